from tests.api.conftest import alice_key, api, bearer, isolated_rate_limits, make_key  # noqa: F401
from tests.s3 import moto_server, s3_media  # noqa: F401 - the S3 fixtures

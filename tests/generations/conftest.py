from tests.cluster import cluster  # noqa: F401 - the real-cluster fixture

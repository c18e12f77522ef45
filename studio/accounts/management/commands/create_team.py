from django.core.management.base import BaseCommand, CommandError

from studio.accounts import services
from studio.accounts.models import Plan, User
from studio.errors import StudioError


class Command(BaseCommand):
    help = "Create a team with an existing user as its owner; prints the team's UUID."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="Email of an existing user")
        parser.add_argument("--plan", help="Plan slug (default: the default plan)")

    def handle(self, name, owner, plan=None, **options):
        user = User.objects.filter(email__iexact=owner).first()
        if user is None:
            raise CommandError(f"No user with email {owner!r}; create it first (createsuperuser)")
        plan_obj = None
        if plan:
            plan_obj = Plan.objects.filter(slug=plan).first()
            if plan_obj is None:
                slugs = ", ".join(Plan.objects.values_list("slug", flat=True))
                raise CommandError(f"No plan {plan!r}; known plans: {slugs}")
        try:
            team = services.create_team(name, user, plan=plan_obj)
        except StudioError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(str(team.uuid))

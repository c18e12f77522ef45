from django.core.management.base import BaseCommand, CommandError

from studio.accounts import credits
from studio.accounts.management.teams import find_team
from studio.accounts.models import Plan


class Command(BaseCommand):
    help = "Move a team to a plan; a new period starts now with the plan's allowance."

    def add_arguments(self, parser):
        parser.add_argument("team", help="Team name or UUID")
        parser.add_argument("plan", help="Plan slug or name")

    def handle(self, team, plan, **options):
        team_obj = find_team(team)
        plan_obj = (
            Plan.objects.filter(slug=plan).first() or Plan.objects.filter(name__iexact=plan).first()
        )
        if plan_obj is None:
            slugs = ", ".join(Plan.objects.values_list("slug", flat=True))
            raise CommandError(f"No plan {plan!r}; known plans: {slugs}")
        credits.set_team_plan(team_obj, plan_obj)
        self.stdout.write(f"{team_obj.name} is on the {plan_obj.name} plan")

import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from studio.accounts import services
from studio.accounts.models import Bucket, Membership, Team, User


class Command(BaseCommand):
    help = "Create (or refresh) the demo login and the demo team for a local run; prints the login."

    def add_arguments(self, parser):
        parser.add_argument(
            "--email", default=os.environ.get("STUDIO_DEMO_EMAIL", "demo@studio.local")
        )
        parser.add_argument(
            "--password", default=os.environ.get("STUDIO_DEMO_PASSWORD", "studio-demo")
        )
        parser.add_argument("--credits", type=int, default=5000)

    @transaction.atomic
    def handle(self, email, password, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_superuser(email=email, password=password, name="Demo Admin")
        else:
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["password", "is_staff", "is_superuser"])
        team = Team.objects.filter(memberships__user=user, name="Demo Studio").first()
        if team is None:
            team = services.create_team("Demo Studio", user)
            from studio.accounts import credits as ledger

            ledger.grant(
                team, options["credits"], bucket=Bucket.PACK, note="Demo credit pack", user=user
            )
        Membership.objects.get_or_create(user=user, team=team, defaults={"role": "owner"})
        team.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Studio demo ready\n"
                f"  Sign in at  {settings.BASE_URL}/  as  {email}  /  {password}\n"
                f"  Team        {team.name} ({team.uuid}) with {team.total_credits:,} credits\n"
                f"  Admin       {settings.BASE_URL}/admin/ (same login)\n"
                f"  API docs    {settings.BASE_URL}/api/v1/docs\n"
            )
        )

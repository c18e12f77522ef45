from django.contrib import admin

from studio.integrations.models import Delivery, MetaPixel, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "team", "dialect", "enabled", "for_job_urls", "created_at"]
    list_filter = ["enabled", "dialect", "for_job_urls"]
    # The encrypted secrets are never shown, not even as ciphertext.
    exclude = ["secret_encrypted", "previous_secret_encrypted"]
    readonly_fields = ["secret_last4", "previous_secret_expires_at"]


@admin.register(MetaPixel)
class MetaPixelAdmin(admin.ModelAdmin):
    list_display = ["pixel_id", "team", "token_last4", "test_event_code", "updated_at"]
    exclude = ["access_token_encrypted"]
    readonly_fields = ["token_last4"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "kind", "team", "state", "attempts", "last_status_code"]
    list_filter = ["kind", "state"]
    exclude = ["payload"]
    readonly_fields = [f.name for f in Delivery._meta.fields if f.name != "payload"]

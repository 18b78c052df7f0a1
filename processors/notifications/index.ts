// The notifications component: confirmed records to partner webhooks (docs/contract.md "Observability and shutdown", docs/notifications.md).
export { startNotifier, type Notifier, type NotifierDeps } from './notifier.ts'
export { loadNotificationsConfig, parseNotificationsConfig, type EndpointConfig, type NotificationsConfig, type NotificationKind } from '../../lib/notifications-config.ts'
export { signatureHeader, signatureOf, verifySignature, SIGNATURE_TOLERANCE_S, WEBHOOK_HEADERS } from './webhook-signature.ts'
export { NOTIFICATION_DLQ_HEADERS } from './notifications-dlq.ts'
export { idempotencyKey } from './notification-routing.ts'

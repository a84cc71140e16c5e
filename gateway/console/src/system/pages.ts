// The pages of 系统管理 (System): one entry drives the route, the menu item and the breadcrumb.

/** The seven business modules, in the menu's order. */
export const MODULE_KEYS = ['oms', 'hms', 'tms', 'dbs', 'dms', 'sms', 'pms'] as const

export interface SystemPage {
  /** URL segment under /system and the menu's test id (`menu-system-<path>`). */
  path: string
  /** i18n key of the title. */
  titleKey: string
  /** Permission needed to open the page. */
  permission: string
  /** Element Plus icon name (src/utils/icons.ts). */
  icon: string
}

export const SYSTEM_PAGES: SystemPage[] = [
  { path: 'users', titleKey: 'system.users.title', permission: 'system:user:read', icon: 'User' },
  { path: 'roles', titleKey: 'system.roles.title', permission: 'system:role:read', icon: 'Key' },
  { path: 'login-log', titleKey: 'system.loginLog.title', permission: 'system:login_log:read', icon: 'Document' },
  { path: 'operation-log', titleKey: 'system.operationLog.title', permission: 'system:audit:read', icon: 'Notebook' },
  { path: 'sessions', titleKey: 'system.sessions.title', permission: 'system:session:read', icon: 'Monitor' },
  { path: 'outbox', titleKey: 'system.outbox.title', permission: 'system:outbox:read', icon: 'Tickets' },
  { path: 'security-policy', titleKey: 'system.policy.title', permission: 'system:security:read', icon: 'Setting' },
]

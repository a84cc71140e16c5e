// Every page inside the console's layout, in the menu's order: the one list the router's
// routes (`/<module>/<path>`, `meta.permission`), the menu (`menu-<module>-<path>`), the
// breadcrumb and the page title all come from. A new page is one entry here; nothing else
// lists pages. The master-data pages follow from src/resources (one per resource).
import type { RouteComponent } from 'vue-router'

import { REPORT_KEYS } from '@/api/tms'
import { REPORT_ICONS, REPORT_TITLES } from '@/components/statistics/report'
import { readPermission, resources } from '@/resources'
import { patientResource } from '@/resources/oms'
import type { MessageKey } from '@/resources/types'

/** The seven business modules the gateway knows (`/api/auth/modules`), in the menu's order. */
export const MODULE_KEYS = ['oms', 'hms', 'tms', 'dbs', 'dms', 'sms', 'pms'] as const

/** A module with pages here, or 系统管理. */
export type PageModule = 'dbs' | 'dms' | 'oms' | 'hms' | 'tms' | 'sms' | 'pms' | 'system'

export interface PageDef {
  module: PageModule
  /** URL segment under /<module>; also the menu's test id (`menu-<module>-<path>`). */
  path: string
  /** The title (menu, breadcrumb, browser tab): an i18n key. */
  title: MessageKey
  /** Needed to open the page and to see its menu item. */
  permission: string
  /** Element Plus icon name (src/utils/icons.ts). */
  icon: string
  component: () => Promise<{ default: RouteComponent }>
  /** Props of the component (the generic resource page is told which resource). */
  props?: Record<string, unknown> | true
  /** false: a page reached from another (住院详情 `/hms/stays/:id`), with a route but no menu item. */
  menu?: boolean
}

const ResourcePage = () => import('@/pages/dbs/ResourcePage.vue')
const ReportPage = () => import('@/pages/tms/ReportPage.vue')

const page = (module: PageModule, path: string, title: MessageKey, permission: string, icon: string, component: PageDef['component']): PageDef => ({
  module,
  path,
  title,
  permission,
  icon,
  component,
})

export const PAGES: PageDef[] = [
  ...resources.map(
    (r): PageDef => ({
      module: 'dbs',
      path: r.path,
      title: r.label,
      permission: readPermission(r),
      icon: r.icon,
      component: ResourcePage,
      props: { resourcePath: r.path },
    }),
  ),

  page('dms', 'roster', 'dms.roster.title', 'dms:schedule:read', 'Calendar', () => import('@/pages/dms/RosterPage.vue')),
  page('dms', 'leaves', 'dms.leaves.title', 'dms:leave:read', 'Stamp', () => import('@/pages/dms/LeavesPage.vue')),
  page('dms', 'visit-records', 'dms.records.title', 'dms:visit_record:read', 'Notebook', () => import('@/pages/dms/VisitRecordsPage.vue')),

  // For oms: the order a desk clerk works in. 患者库 is the generic resource page on /api/oms/patients.
  {
    ...page('oms', 'patients', 'oms.patients.title', readPermission(patientResource), 'User', ResourcePage),
    props: { resourcePath: patientResource.path, module: 'oms' },
  },
  page('oms', 'registration', 'oms.registration.title', 'oms:visit:write', 'Tickets', () => import('@/pages/oms/RegistrationPage.vue')),
  page('oms', 'queue', 'oms.queue.title', 'oms:visit:read', 'List', () => import('@/pages/oms/QueuePage.vue')),
  page('oms', 'pricing', 'oms.pricing.title', 'oms:order:read', 'PriceTag', () => import('@/pages/oms/PricingPage.vue')),
  page('oms', 'payments', 'oms.payments.title', 'oms:payment:read', 'Wallet', () => import('@/pages/oms/PaymentsPage.vue')),
  page('oms', 'exams', 'oms.exams.title', 'oms:exam:read', 'DataAnalysis', () => import('@/pages/oms/ExamsPage.vue')),
  page('oms', 'refunds', 'oms.refunds.title', 'oms:refund:approve', 'RefreshLeft', () => import('@/pages/oms/RefundsPage.vue')),
  page('oms', 'settlements', 'oms.settlements.title', 'oms:settlement:read', 'Coin', () => import('@/pages/oms/SettlementsPage.vue')),
  page('oms', 'visits', 'oms.visits.title', 'oms:visit:read', 'Document', () => import('@/pages/oms/VisitsPage.vue')),

  // For hms: the order an admissions desk and a ward work in (docs/inpatient.md).
  page('hms', 'bed-board', 'hms.board.title', 'hms:ward:read', 'Grid', () => import('@/pages/hms/BedBoardPage.vue')),
  page('hms', 'admission', 'hms.admission.title', 'hms:admission:write', 'Tickets', () => import('@/pages/hms/AdmissionPage.vue')),
  page('hms', 'stays', 'hms.stays.title', 'hms:admission:read', 'List', () => import('@/pages/hms/StaysPage.vue')),
  { ...page('hms', 'stays/:id', 'hms.stay.title', 'hms:admission:read', 'Document', () => import('@/pages/hms/StayPage.vue')), props: true, menu: false },
  page('hms', 'deposits', 'hms.deposit.title', 'hms:deposit:read', 'Wallet', () => import('@/pages/hms/DepositsPage.vue')),
  page('hms', 'exams', 'hms.exams.title', 'hms:charge:read', 'DataAnalysis', () => import('@/pages/hms/ExamsPage.vue')),
  page('hms', 'settlements', 'hms.settlements.title', 'hms:settlement:read', 'Coin', () => import('@/pages/hms/SettlementsPage.vue')),
  page('hms', 'wards', 'hms.wards.title', 'hms:ward:read', 'OfficeBuilding', () => import('@/pages/hms/WardsPage.vue')),

  // For tms: a manager's reports (docs/statistics.md), one menu item each (`/tms/<report key>`), one page for all.
  ...REPORT_KEYS.map((key): PageDef => ({
    ...page('tms', key, REPORT_TITLES[key], 'tms:report:read', REPORT_ICONS[key], ReportPage),
    props: { reportKey: key },
  })),
  page('tms', 'feeds', 'statistics.feeds.title', 'tms:feed:read', 'Connection', () => import('@/pages/tms/FeedsPage.vue')),

  // For sms: the order a store-keeper works in (docs/warehouse.md).
  page('sms', 'inbound', 'sms.inbound.title', 'sms:inbound:read', 'Download', () => import('@/pages/sms/InboundPage.vue')),
  page('sms', 'stock', 'sms.stock.title', 'sms:stock:read', 'Goods', () => import('@/pages/sms/StockPage.vue')),
  page('sms', 'movements', 'sms.movements.title', 'sms:stock:read', 'Tickets', () => import('@/pages/sms/MovementsPage.vue')),
  page('sms', 'low-stock', 'sms.lowStock.title', 'sms:alert:read', 'Warning', () => import('@/pages/sms/LowStockPage.vue')),
  page('sms', 'expiry', 'sms.expiryAlert.title', 'sms:alert:read', 'AlarmClock', () => import('@/pages/sms/ExpiryPage.vue')),
  page('sms', 'shortages', 'sms.shortages.title', 'sms:shortage:read', 'Bell', () => import('@/pages/sms/ShortagesPage.vue')),
  page('sms', 'outbound', 'sms.outbound.title', 'sms:outbound:read', 'Upload', () => import('@/pages/sms/OutboundPage.vue')),
  page('sms', 'purchases', 'sms.purchases.title', 'sms:purchase:read', 'ShoppingCart', () => import('@/pages/sms/PurchasesPage.vue')),
  page('sms', 'stocktakes', 'sms.stocktakes.title', 'sms:stocktake:read', 'Finished', () => import('@/pages/sms/StocktakesPage.vue')),
  page('sms', 'disposals', 'sms.disposals.title', 'sms:disposal:read', 'DeleteFilled', () => import('@/pages/sms/DisposalsPage.vue')),
  page('sms', 'returns', 'sms.returns.title', 'sms:return:read', 'RefreshLeft', () => import('@/pages/sms/ReturnsPage.vue')),

  // For pms: the order a pharmacist works in (docs/pharmacy.md); each with its list route's permission.
  page('pms', 'dispensing', 'pms.dispensing.title', 'pms:dispensing:read', 'FirstAidKit', () => import('@/pages/pms/DispensingPage.vue')),
  page('pms', 'drug-returns', 'pms.drugReturns.title', 'pms:dispensing:read', 'RefreshLeft', () => import('@/pages/pms/DrugReturnsPage.vue')),
  page('pms', 'stock', 'pms.stock.title', 'pms:stock:read', 'Box', () => import('@/pages/pms/StockPage.vue')),
  page('pms', 'shortages', 'pms.shortages.title', 'pms:shortage:read', 'Bell', () => import('@/pages/pms/ShortagesPage.vue')),
  page('pms', 'deliveries', 'pms.deliveries.title', 'pms:delivery:read', 'Van', () => import('@/pages/pms/DeliveriesPage.vue')),
  page('pms', 'warehouse-returns', 'pms.warehouseReturns.title', 'pms:stock:read', 'Back', () => import('@/pages/pms/WarehouseReturnsPage.vue')),
  page('pms', 'trace', 'pms.trace.title', 'pms:trace:read', 'Connection', () => import('@/pages/pms/TracePage.vue')),

  page('system', 'users', 'system.users.title', 'system:user:read', 'User', () => import('@/pages/system/UsersPage.vue')),
  page('system', 'roles', 'system.roles.title', 'system:role:read', 'Key', () => import('@/pages/system/RolesPage.vue')),
  page('system', 'login-log', 'system.loginLog.title', 'system:login_log:read', 'Document', () => import('@/pages/system/LoginLogPage.vue')),
  page('system', 'operation-log', 'system.operationLog.title', 'system:audit:read', 'Notebook', () => import('@/pages/system/OperationLogPage.vue')),
  page('system', 'app-logs', 'appLogs.title', 'system:applog:read', 'Files', () => import('@/pages/system/AppLogsPage.vue')),
  page('system', 'sessions', 'system.sessions.title', 'system:session:read', 'Monitor', () => import('@/pages/system/SessionsPage.vue')),
  page('system', 'outbox', 'system.outbox.title', 'system:outbox:read', 'Tickets', () => import('@/pages/system/OutboxPage.vue')),
  page('system', 'notices', 'notify.notices.title', 'system:notice:read', 'Bell', () => import('@/pages/system/NoticesPage.vue')),
  page('system', 'security-policy', 'system.policy.title', 'system:security:read', 'Setting', () => import('@/pages/system/SecurityPolicyPage.vue')),
]

/** The menu pages of one module, in the menu's order (a page reached only from another is left out). */
export function pagesOf(module: string): PageDef[] {
  return PAGES.filter((p) => p.module === module && p.menu !== false)
}

/** The business modules that have pages here; the others the console shows as a placeholder. */
export const MODULES_WITH_PAGES: ReadonlySet<string> = new Set(PAGES.map((p) => p.module).filter((m) => m !== 'system'))

/** The first page of `module` that `can` allows, as a path; null when there is none. */
export function firstPagePath(module: string, can: (permission: string) => boolean): string | null {
  const first = pagesOf(module).find((p) => can(p.permission))
  return first ? `/${first.module}/${first.path}` : null
}

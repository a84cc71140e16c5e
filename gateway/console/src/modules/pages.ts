// The pages of the business modules with their own console pages (排班 dms, 门诊 oms, 药房 pms):
// one entry drives the route (`/<module>/<path>`), the menu item and the breadcrumb, like
// src/system/pages.ts. The order is the menu's (for oms: the order a desk clerk works in).

export interface ModulePage {
  module: 'dms' | 'oms' | 'pms'
  /** URL segment under /<module> and the menu's test id (`menu-<module>-<path>`). */
  path: string
  /** i18n key of the title. */
  titleKey: string
  /** Permission needed to open the page (and to see its menu item). */
  permission: string
  /** Element Plus icon name (src/utils/icons.ts). */
  icon: string
}

export const MODULE_PAGES: ModulePage[] = [
  { module: 'dms', path: 'roster', titleKey: 'dms.roster.title', permission: 'dms:schedule:read', icon: 'Calendar' },
  { module: 'dms', path: 'leaves', titleKey: 'dms.leaves.title', permission: 'dms:leave:read', icon: 'Stamp' },
  { module: 'dms', path: 'visit-records', titleKey: 'dms.records.title', permission: 'dms:visit_record:read', icon: 'Notebook' },

  { module: 'oms', path: 'patients', titleKey: 'oms.patients.title', permission: 'oms:patient:read', icon: 'User' },
  { module: 'oms', path: 'registration', titleKey: 'oms.registration.title', permission: 'oms:visit:write', icon: 'Tickets' },
  { module: 'oms', path: 'queue', titleKey: 'oms.queue.title', permission: 'oms:visit:read', icon: 'List' },
  { module: 'oms', path: 'pricing', titleKey: 'oms.pricing.title', permission: 'oms:order:read', icon: 'PriceTag' },
  { module: 'oms', path: 'payments', titleKey: 'oms.payments.title', permission: 'oms:payment:read', icon: 'Wallet' },
  { module: 'oms', path: 'exams', titleKey: 'oms.exams.title', permission: 'oms:exam:read', icon: 'DataAnalysis' },
  { module: 'oms', path: 'refunds', titleKey: 'oms.refunds.title', permission: 'oms:refund:approve', icon: 'RefreshLeft' },
  { module: 'oms', path: 'settlements', titleKey: 'oms.settlements.title', permission: 'oms:settlement:read', icon: 'Coin' },
  { module: 'oms', path: 'visits', titleKey: 'oms.visits.title', permission: 'oms:visit:read', icon: 'Document' },

  { module: 'pms', path: 'dispensing', titleKey: 'pms.dispensing.title', permission: 'pms:dispensing:read', icon: 'FirstAidKit' },
]

export function pagesOf(module: string): ModulePage[] {
  return MODULE_PAGES.filter((p) => p.module === module)
}

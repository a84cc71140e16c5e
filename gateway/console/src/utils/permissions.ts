import { i18n } from '@/i18n'
import { resources } from '@/resources'
import { otherResources } from '@/resources/oms'

// Permission strings are `<svc>:<resource>:<action>`. `*` grants everything; a held
// permission ending in `:*` (`dbs:*`, `dbs:department:*`) grants everything below it.

export function grants(held: string, needed: string): boolean {
  if (held === '*' || held === needed) return true
  if (held.endsWith(':*')) return needed.startsWith(held.slice(0, -1))
  return false
}

export function hasPermission(held: readonly string[], needed: string): boolean {
  return held.some((p) => grants(p, needed))
}

/** Whether the user holds anything in module `key` (`dbs:…`), or `*`. */
export function hasModule(held: readonly string[], key: string): boolean {
  return held.some((p) => p === '*' || p.startsWith(`${key}:`))
}

type Names = { module?: (key: string) => string | null; resource?: (module: string, key: string) => string | null }

/**
 * A permission in words for a hint, a tag or a refusal, never its string: 数据中心 · 医生 · 查看,
 * a wildcard as 数据中心 · 全部. `names` (the permission catalogue, in the role editor) come
 * first; otherwise the console's own labels. A part with no name reads 其他.
 */
export function permissionLabel(permission: string, names: Names = {}): string {
  const { t, te } = i18n.global
  if (permission === '*') return t('system.roles.allPermissions')
  const [module = '', resource = '', action = ''] = permission.split(':')
  const moduleName = names.module?.(module) ?? (te(`labels.modules.${module}`) ? t(`labels.modules.${module}`) : null)
  const words = [moduleName ?? t('labels.permissionOther')]
  if (resource === '*') return [...words, t('labels.permissionAll')].join(' · ')
  if (resource) words.push(names.resource?.(module, resource) ?? resourceName(resource) ?? t('labels.permissionOther'))
  if (action === '*') words.push(t('labels.permissionAll'))
  else if (action) words.push(te(`system.permissionActions.${action}`) ? t(`system.permissionActions.${action}`) : t('labels.permissionOther'))
  return words.join(' · ')
}

function resourceName(key: string): string | null {
  const { t, te } = i18n.global
  const resource = [...resources, ...otherResources].find((r) => r.key === key)
  if (resource) return t(resource.label)
  return te(`labels.entities.${key}`) ? t(`labels.entities.${key}`) : null
}

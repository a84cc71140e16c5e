// The operation log in words: an action or entity code is never shown; one not listed here
// reads as 其他操作 / 其他记录 (the expanded row still holds the full record).
import { i18n } from '@/i18n'
import { labelsZh } from '@/i18n/labels.zh-CN'
import { resources } from '@/resources'
import { otherResources } from '@/resources/oms'

const RESOURCE_NAMES = new Map([...resources, ...otherResources].map((r) => [r.key, r.itemName]))

export function actionLabel(action: string): string {
  const { t, te } = i18n.global
  return te(`labels.actions.${action}`) ? t(`labels.actions.${action}`) : t('labels.actions.other')
}

export function entityLabel(entity: string): string {
  const { t, te } = i18n.global
  const resource = RESOURCE_NAMES.get(entity)
  if (resource) return t(resource)
  return te(`labels.entities.${entity}`) ? t(`labels.entities.${entity}`) : t('labels.entities.other')
}

/** The entities the filter offers: master data first, then the rest (without `other`). */
export function entityOptions(): { value: string; label: string }[] {
  const keys = new Set([...RESOURCE_NAMES.keys(), ...Object.keys(labelsZh.labels.entities)])
  keys.delete('other')
  return [...keys].map((value) => ({ value, label: entityLabel(value) }))
}

// The words a list page shows for its codes, as the `values` of its export (usePagedList's
// export options, docs/exports.md): the file must read like the screen, never a raw code.
// Functions, called when the export starts, so they follow the language of the moment.
import type { ExportColumn } from '@/utils/exports'
import { i18n } from '@/i18n'

import { personName } from './pharmacy'

type Texts = Record<string, string>

/**
 * Every code of an i18n map (`hms.chargeState` → { booked: '已预约', … }) in the current
 * language: the map the page's tag or cell translates the code with.
 */
export function i18nTexts(prefix: string): Texts {
  const { t, tm } = i18n.global
  const messages: unknown = tm(prefix)
  if (!messages || typeof messages !== 'object') throw new Error(`no i18n map at ${prefix}`)
  return Object.fromEntries(Object.keys(messages).map((code) => [code, t(`${prefix}.${code}`)]))
}

/** The codes of a column with the page's own label function (movementLabel, destinationLabel…). */
export function textsOf<C extends string>(codes: readonly C[], text: (code: C) => string): Texts {
  return Object.fromEntries(codes.map((code) => [code, text(code)]))
}

/** An id column shown by its name (a warehouse, a supplier): the names of the ids the page knows. */
export function namesById(choices: readonly { id: number; name: string }[]): Texts {
  return Object.fromEntries(choices.map((c) => [String(c.id), c.name]))
}

/** A boolean shown as two words other than 是 / 否 (启用 / 停用, 成功 / 失败). */
export function flagTexts(yes: string, no: string): Texts {
  return { true: i18n.global.t(yes), false: i18n.global.t(no) }
}

/**
 * Who did it (a username, or a service's own account such as `service:sms`): a person reads as
 * their username as on screen, a service as 仓库（系统自动）, never its code.
 */
export function actorTexts(): Texts {
  const modules = Object.keys(i18n.global.tm('labels.modules') as Record<string, unknown>)
  return Object.fromEntries(modules.map((m) => [`service:${m}`, personName(`service:${m}`)]))
}

/** One file column: a field and the i18n key of its header, with its words if it is coded. */
export function part(key: string, label: string, values?: Texts): ExportColumn {
  const column: ExportColumn = { key, label: i18n.global.t(label) }
  return values ? { ...column, values } : column
}

/** An empty cell the screen fills with words (a drug dbs no longer has: （数据中心已无此药品）). */
export function blankAs(label: string): Texts {
  return { '': i18n.global.t(label) }
}

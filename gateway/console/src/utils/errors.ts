import { ElMessage } from 'element-plus'

import { ApiError, type FieldProblem } from '@/api/http'
import { i18n } from '@/i18n'
import { permissionLabel } from '@/utils/permissions'

/**
 * A field path of a server error in words: `lines.0.quantity` → 第 1 行 · 数量. A list's name
 * before its index is dropped (the row says it). Null when any part has no label: the caller
 * then shows the message alone, never the raw path.
 */
export function fieldLabel(path: string): string | null {
  const { t, te } = i18n.global
  const parts = path.split('.')
  const words: string[] = []
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    if (/^\d+$/.test(part)) {
      words.push(t('labels.row', { n: Number(part) + 1 }))
    } else if (i + 1 < parts.length && /^\d+$/.test(parts[i + 1]!)) {
      continue
    } else if (te(`labels.fields.${part}`)) {
      words.push(t(`labels.fields.${part}`))
    } else {
      return null
    }
  }
  return words.length ? words.join(' · ') : null
}

/** One server field problem as a person reads it: 第 1 行 · 数量：不能小于 1. */
export function fieldProblemText(problem: FieldProblem): string {
  const label = fieldLabel(problem.field)
  return label ? `${label}：${problem.message}` : problem.message
}

/** The readable text of an API error in the current language (the server already localized it). */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    // The server's summary of a malformed request lists raw field paths: list them in words.
    if (error.code === 'validation_failed' && error.fieldErrors.length > 0) {
      return error.fieldErrors.map(fieldProblemText).join('；')
    }
    // The detail names a permission string ("没有权限：dbs:drug:read"): say which permission in words.
    const permission = error.code === 'permission_denied' ? error.problem.permission : undefined
    if (permission) return i18n.global.t('labels.permissionDenied', { permission: permissionLabel(permission) })
    return error.problem.detail || error.problem.title || i18n.global.t('errors.unknown', { status: error.status })
  }
  if (error instanceof Error) return error.message
  return String(error)
}

/**
 * Shows an error as an ElMessage. A 401 is not shown: the session handler already sends
 * the user to the login page.
 */
export function showError(error: unknown): void {
  if (error instanceof DOMException && error.name === 'AbortError') return
  if (error instanceof ApiError && error.status === 401) return
  // A refused request is expected; only the unexpected goes to the browser console.
  if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) console.error(error)
  ElMessage.error({ message: errorText(error), grouping: true })
}

/**
 * A refused request's field problems by field path (`bed_id`, `deposit.amount`), for the form items'
 * `error`; empty for any other error (the message then says it all).
 */
export function fieldErrorsOf(error: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (error instanceof ApiError) for (const p of error.fieldErrors) out[p.field] ??= p.message
  return out
}

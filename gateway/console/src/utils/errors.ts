import { ElMessage } from 'element-plus'

import { ApiError } from '@/api/http'
import { i18n } from '@/i18n'

/** The readable text of an API error in the current language (the server already localized it). */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
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

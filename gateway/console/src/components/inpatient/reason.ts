// The reason a credit, a return or a reversal asks for: required, at most 200 characters (as hms checks).
import { ElMessageBox } from 'element-plus'

import { i18n } from '@/i18n'

/** Asks for a reason in a prompt; null when the user cancels. */
export async function askReason(title: string, message: string): Promise<string | null> {
  const { t } = i18n.global
  try {
    const { value } = await ElMessageBox.prompt(message, title, {
      confirmButtonText: t('common.confirm'),
      cancelButtonText: t('common.cancel'),
      inputType: 'textarea',
      inputValidator: (text: string) => (text.trim() && text.trim().length <= 200 ? true : t('hms.items.reasonRequired')),
      customClass: 'reason-prompt',
    })
    return value.trim()
  } catch {
    return null
  }
}

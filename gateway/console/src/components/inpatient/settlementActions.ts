// 打印 and 冲销 of a discharge settlement, shared by the stay's tab and 出院结算记录.
import { ElMessage } from 'element-plus'

import { hmsApi, type Settlement } from '@/api/hms'
import { i18n } from '@/i18n'
import { showError } from '@/utils/errors'
import { openApiFile } from '@/utils/files'

import { askReason } from './reason'

export async function printSettlement(settlement: Pick<Settlement, 'id' | 'number'>): Promise<void> {
  try {
    await openApiFile(hmsApi.settlementPdfUrl(settlement.id), `${settlement.number}.pdf`)
  } catch (error) {
    showError(error)
  }
}

/** Asks for the reason and reverses; true when it was reversed. */
export async function reverseSettlement(settlement: Pick<Settlement, 'id' | 'number'>): Promise<boolean> {
  const { t } = i18n.global
  const reason = await askReason(t('hms.settle.reverse'), t('hms.settle.reversePrompt', { number: settlement.number }))
  if (reason === null) return false
  try {
    await hmsApi.reverse(settlement.id, reason)
    ElMessage.success(t('hms.settle.reversed'))
    return true
  } catch (error) {
    showError(error)
    return false
  }
}

/** A settlement that may still be reversed: a settlement (not a reversal), not reversed yet. */
export function reversible(s: Pick<Settlement, 'kind'> & Partial<Pick<Settlement, 'reversed_by_id'>>): boolean {
  return s.kind === 'settlement' && !s.reversed_by_id
}

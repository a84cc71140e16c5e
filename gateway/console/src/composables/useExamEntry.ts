import { ElMessage, type UploadUserFile } from 'element-plus'
import { ref, watch, type Ref } from 'vue'
import { useI18n } from 'vue-i18n'

const ACCEPT = ['application/pdf', 'image/png', 'image/jpeg']

/**
 * The state of an examination result being entered (outpatient and inpatient alike): its text,
 * the report files chosen, whether it is being saved — all cleared each time the dialog opens —
 * and the check that a chosen file is a PDF, PNG or JPEG (the server checks the content again).
 * `badFile` is the message key naming a refused file (`{ name }`).
 */
export function useExamEntry(visible: Ref<boolean>, badFile: string) {
  const { t } = useI18n()
  const text = ref('')
  const files = ref<UploadUserFile[]>([])
  const saving = ref(false)

  watch(visible, (open) => {
    if (!open) return
    text.value = ''
    files.value = []
  })

  function accept(file: UploadUserFile): boolean {
    const raw = file.raw
    const ok = raw ? ACCEPT.includes(raw.type) || /\.(pdf|png|jpe?g)$/i.test(raw.name) : false
    if (!ok) ElMessage.warning(t(badFile, { name: file.name }))
    return ok
  }

  return { text, files, saving, accept }
}

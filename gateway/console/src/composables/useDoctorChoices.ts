import { computed, onMounted, shallowRef } from 'vue'

import { dmsApi, type Schedule } from '@/api/dms'
import { useAuthStore } from '@/stores/auth'
import { addDays, hospitalToday } from '@/utils/time'

import { useDbsList } from './useDbsList'

export interface DoctorChoice {
  id: number
  name: string
  departmentName: string
}

/**
 * Doctors to pick in dms forms and filters: dbs doctors when the user may read them;
 * otherwise those with a schedule from 4 weeks back to 8 weeks ahead.
 */
export function useDoctorChoices() {
  const auth = useAuthStore()
  const dbs = useDbsList('doctors', 'dbs:doctor:read')
  const scheduled = shallowRef<Schedule[]>([])

  onMounted(async () => {
    if (auth.can('dbs:doctor:read') || !auth.can('dms:schedule:read')) return
    const today = hospitalToday()
    try {
      scheduled.value = (await dmsApi.schedules({ date_from: addDays(today, -28), date_to: addDays(today, 56) })).items
    } catch {
      // the select stays empty; the list pages show their own errors
    }
  })

  const choices = computed<DoctorChoice[]>(() => {
    const out = new Map<number, DoctorChoice>()
    if (!dbs.unavailable.value) {
      for (const d of dbs.records.value) out.set(d.id, { id: d.id, name: String(d.name), departmentName: String(d.department_name ?? '') })
    }
    for (const s of scheduled.value) {
      if (!out.has(s.doctor_id)) out.set(s.doctor_id, { id: s.doctor_id, name: s.doctor_name, departmentName: s.department_name })
    }
    return [...out.values()].sort((a, b) => a.departmentName.localeCompare(b.departmentName, 'zh') || a.name.localeCompare(b.name, 'zh'))
  })

  return { choices, fromDbs: computed(() => !dbs.unavailable.value) }
}

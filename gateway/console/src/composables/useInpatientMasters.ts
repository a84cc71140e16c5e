import { computed, onMounted, shallowRef } from 'vue'

import { omsApi } from '@/api/oms'
import type { DbsSchema } from '@/api/schema'
import { useAuthStore } from '@/stores/auth'

import { useDbsList } from './useDbsList'

type Department = DbsSchema<'DepartmentOut'>
type Doctor = DbsSchema<'DoctorOut'>

export interface ChargeTypeChoice {
  id: number
  name: string
  reimbursement_ratio: string
}

/**
 * What the inpatient forms choose from in master data: inpatient departments, doctors by
 * department, charge types (费别). Each needs its `dbs:<key>:read`; charge types fall back to
 * oms's list (`/api/oms/charge-types`) for a desk that holds the outpatient module instead.
 */
export function useInpatientMasters() {
  const auth = useAuthStore()
  const departmentList = useDbsList('departments', 'dbs:department:read')
  const doctorList = useDbsList('doctors', 'dbs:doctor:read')
  const chargeTypeList = useDbsList('charge-types', 'dbs:charge_type:read')
  const omsChargeTypes = shallowRef<ChargeTypeChoice[]>([])

  onMounted(async () => {
    if (auth.can('dbs:charge_type:read') || !auth.can('oms:payment:read')) return
    try {
      omsChargeTypes.value = await omsApi.chargeTypes()
    } catch {
      // the select stays empty; the form says what is missing
    }
  })

  const departments = computed(() => (departmentList.records.value as unknown as Department[]).filter((d) => d.kind === 'inpatient'))
  const doctors = computed(() => doctorList.records.value as unknown as Doctor[])
  const chargeTypes = computed<ChargeTypeChoice[]>(() =>
    chargeTypeList.unavailable.value ? omsChargeTypes.value : (chargeTypeList.records.value as unknown as ChargeTypeChoice[]),
  )

  function doctorsOf(departmentId: number | null | undefined): Doctor[] {
    if (departmentId === null || departmentId === undefined) return []
    return doctors.value.filter((d) => d.department_id === departmentId)
  }

  return {
    departments,
    departmentsUnavailable: departmentList.unavailable,
    doctors,
    doctorsOf,
    chargeTypes,
  }
}

import { computed, onMounted, ref, shallowRef } from 'vue'

import { ApiError } from '@/api/http'
import { resourceApi } from '@/api/resources'
import type { DbsSchema } from '@/api/schema'
import { showError } from '@/utils/errors'

type Department = DbsSchema<'DepartmentOut'>

export interface DepartmentOption {
  value: number
  label: string
  disabled: boolean
}

/**
 * The hospital's departments (dbs) for department selects and for showing a department
 * id by its name. Reading them needs `dbs:department:read`; without it (or when dbs is
 * down) the pages still work and show `#<id>`, and `unavailable` says why the select is empty.
 */
export function useDepartments() {
  const records = shallowRef<Department[]>([])
  const loading = ref(false)
  const unavailable = ref(false)

  async function load(): Promise<void> {
    loading.value = true
    try {
      records.value = (await resourceApi<Department>('departments').list({ enabled: true, size: 200 })).items
      unavailable.value = false
    } catch (error) {
      unavailable.value = true
      // No right to read departments, or dbs is not running: say so quietly.
      if (!(error instanceof ApiError) || (error.status !== 403 && error.status < 500)) showError(error)
    } finally {
      loading.value = false
    }
  }

  const byId = computed(() => new Map(records.value.map((r) => [r.id, r])))

  function name(id: number | null | undefined): string {
    if (id === null || id === undefined) return ''
    const record = byId.value.get(id)
    return record ? record.name : `#${id}`
  }

  /** Enabled departments, plus the given current ids that are not among them (marked). */
  function options(current: readonly (number | null | undefined)[] = [], missingSuffix = ''): DepartmentOption[] {
    const list = records.value.map((r) => ({
      value: r.id,
      label: r.code ? `${r.name} (${r.code})` : r.name,
      disabled: false,
    }))
    for (const id of current) {
      if (id !== null && id !== undefined && !byId.value.has(id)) {
        list.unshift({ value: id, label: `#${id}${missingSuffix}`, disabled: true })
      }
    }
    return list
  }

  onMounted(load)

  return { records, loading, unavailable, load, name, options }
}

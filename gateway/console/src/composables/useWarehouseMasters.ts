import { onMounted, shallowRef } from 'vue'

import { ApiError } from '@/api/http'
import { resourceApi } from '@/api/resources'
import type { ResourceRecord } from '@/resources/types'
import { useAuthStore } from '@/stores/auth'
import { showError } from '@/utils/errors'

export interface MasterChoice {
  id: number
  name: string
  enabled: boolean
}

/**
 * The dbs master data the warehouse pages name things by: warehouses, suppliers and handlers
 * (经办人). Disabled ones are read too, so an old order or batch still shows its name; the forms
 * offer only the enabled ones. Each list needs `dbs:<key>:read` and is not asked for without it
 * (the page then shows the names its own records carry).
 */
export function useWarehouseMasters() {
  const auth = useAuthStore()
  const warehouses = shallowRef<MasterChoice[]>([])
  const suppliers = shallowRef<MasterChoice[]>([])
  const handlers = shallowRef<MasterChoice[]>([])

  async function read(path: string, key: string): Promise<MasterChoice[]> {
    if (!auth.can(`dbs:${key}:read`)) return []
    try {
      const page = await resourceApi<ResourceRecord>(path).list({ size: 200 })
      return page.items.map((r) => ({ id: r.id, name: String(r.name ?? ''), enabled: r.enabled !== false }))
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 403 && error.status < 500)) showError(error)
      return []
    }
  }

  async function load(): Promise<void> {
    const [w, s, h] = await Promise.all([read('warehouses', 'warehouse'), read('suppliers', 'supplier'), read('handlers', 'handler')])
    warehouses.value = w
    suppliers.value = s
    handlers.value = h
  }

  const nameIn = (list: MasterChoice[], id: number | null | undefined): string =>
    id == null ? '' : (list.find((c) => c.id === id)?.name ?? '')

  onMounted(load)
  return {
    warehouses,
    suppliers,
    handlers,
    load,
    warehouseName: (id: number | null | undefined) => nameIn(warehouses.value, id),
    supplierName: (id: number | null | undefined) => nameIn(suppliers.value, id),
  }
}

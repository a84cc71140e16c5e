import { onMounted, ref, shallowRef } from 'vue'

import { ApiError } from '@/api/http'
import { resourceApi } from '@/api/resources'
import type { ResourceRecord } from '@/resources/types'
import { useAuthStore } from '@/stores/auth'
import { showError } from '@/utils/errors'

/**
 * Enabled records of one master-data resource (`/api/dbs/<path>?enabled=true&size=200`) for
 * selects: doctors, registration types. Reading them needs `dbs:<key>:read`; a user without it
 * (an outpatient clerk, a scheduler) gets `unavailable` and the page derives what it can from
 * its own data instead; the request is not even sent when the permission is missing.
 */
export function useDbsList(path: string, permission: string, query: Record<string, string | number | boolean> = {}) {
  const auth = useAuthStore()
  const records = shallowRef<ResourceRecord[]>([])
  const loading = ref(false)
  const unavailable = ref(false)

  async function load(): Promise<void> {
    if (!auth.can(permission)) {
      unavailable.value = true
      return
    }
    loading.value = true
    try {
      records.value = (await resourceApi(path).list({ enabled: true, size: 200, ...query })).items
      unavailable.value = false
    } catch (error) {
      unavailable.value = true
      if (!(error instanceof ApiError) || (error.status !== 403 && error.status < 500)) showError(error)
    } finally {
      loading.value = false
    }
  }

  onMounted(load)
  return { records, loading, unavailable, load }
}

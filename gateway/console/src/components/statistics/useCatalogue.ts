import { shallowRef } from 'vue'

import { type ReportInfo, tmsApi } from '@/api/tms'

import { normalizeCatalogue } from './report'

// The catalogue changes only with a new tms: read once per page load and shared by every report page.
const catalogue = shallowRef<ReportInfo[]>([])
let loading: Promise<void> | null = null

/** `GET /api/tms/reports`, once; when it fails the pages fall back to the documented filters. */
export function useCatalogue() {
  if (!loading) {
    loading = tmsApi
      .catalogue()
      .then((raw) => {
        catalogue.value = normalizeCatalogue(raw)
      })
      .catch(() => {
        // Read again on the next page opened; the report itself says what is wrong.
        loading = null
      })
  }
  return { catalogue, ready: loading ?? Promise.resolve() }
}

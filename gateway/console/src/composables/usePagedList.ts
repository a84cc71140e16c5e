import { onBeforeUnmount, ref, shallowRef, type Ref, type ShallowRef } from 'vue'

import type { Page } from '@/resources/types'
import { showError } from '@/utils/errors'

export const PAGE_SIZES = [10, 20, 50, 100]

export interface PagedList<T> {
  items: ShallowRef<T[]>
  total: Ref<number>
  page: Ref<number>
  size: Ref<number>
  loading: Ref<boolean>
  /** Reads the current page again (a newer call cancels an older one still running). */
  load: () => Promise<void>
  /** Back to page 1 with the current filters. */
  search: () => void
  onSizeChange: () => void
}

/**
 * The list state of a paged table: `fetch(page, size, signal)` asks the API with the
 * page's own filters. A page past the end (after deletes elsewhere) falls back to the last.
 */
export function usePagedList<T>(
  fetch: (page: number, size: number, signal: AbortSignal) => Promise<Page<T>>,
  initialSize = 20,
): PagedList<T> {
  const items = shallowRef<T[]>([])
  const total = ref(0)
  const page = ref(1)
  const size = ref(initialSize)
  const loading = ref(false)
  let inflight: AbortController | null = null

  async function load(): Promise<void> {
    inflight?.abort()
    const controller = new AbortController()
    inflight = controller
    loading.value = true
    try {
      const answer = await fetch(page.value, size.value, controller.signal)
      if (inflight !== controller) return
      if (answer.items.length === 0 && answer.total > 0 && page.value > 1) {
        page.value = Math.max(1, Math.ceil(answer.total / size.value))
        inflight = null
        return load()
      }
      items.value = answer.items
      total.value = answer.total
    } catch (error) {
      if (inflight === controller) showError(error)
    } finally {
      if (inflight === controller) {
        loading.value = false
        inflight = null
      }
    }
  }

  function search(): void {
    page.value = 1
    void load()
  }

  function onSizeChange(): void {
    page.value = 1
    void load()
  }

  onBeforeUnmount(() => inflight?.abort())

  return { items, total, page, size, loading, load, search, onSizeChange }
}

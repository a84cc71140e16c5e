import { onMounted, ref, shallowRef, watch, type ShallowRef } from 'vue'

import { showError } from '@/utils/errors'

/**
 * What one tab of the stay page shows: `fetch`'s answer, loaded when the tab opens and again each
 * time `version` moves (the page moves it after any change to the stay), with a problem shown in
 * words. `load` reloads by hand.
 */
export function useStayData<T>(fetch: () => Promise<T>, version: () => number, initial: T) {
  const data = shallowRef(initial) as ShallowRef<T>
  const loading = ref(false)

  async function load(): Promise<void> {
    loading.value = true
    try {
      data.value = await fetch()
    } catch (error) {
      showError(error)
    } finally {
      loading.value = false
    }
  }
  onMounted(load)
  watch(version, load)

  return { data, loading, load }
}

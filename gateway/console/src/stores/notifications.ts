import { defineStore } from 'pinia'
import { ref } from 'vue'

import { notificationsApi } from '@/api/notices'

/** How often an open console asks for the unread count (the request is two indexed counts). */
export const UNREAD_POLL_MS = 60_000

/** The bell's count: notices not yet opened plus system notifications not yet read. */
export const useNotificationsStore = defineStore('notifications', () => {
  const unread = ref(0)
  let timer: ReturnType<typeof setInterval> | null = null

  async function refresh(): Promise<void> {
    try {
      unread.value = (await notificationsApi.unreadCount()).total
    } catch {
      // The bell keeps its last count: a missed poll is no reason to bother the user.
    }
  }

  function start(): void {
    stop()
    void refresh()
    timer = setInterval(() => void refresh(), UNREAD_POLL_MS)
  }

  function stop(): void {
    if (timer !== null) clearInterval(timer)
    timer = null
  }

  return { unread, refresh, start, stop }
})

// 通知公告 and 消息通知 (docs/notifications.md): notices administrators publish, the system's own
// notifications (low stock, expiry, low deposits, stuck messages, locked accounts) and the bell's count.

import type { Page } from '@/resources/types'

import { http } from './http'
import type { GatewaySchema } from './schema'

export type Notice = GatewaySchema<'NoticeOut'>
export type NoticeInput = GatewaySchema<'NoticeIn'>
export type NoticeStatus = GatewaySchema<'NoticeStatus'>
export type NoticeReceipts = GatewaySchema<'Receipts'>
/** A published notice as its reader sees it; `read_at` is the first opening (its receipt). */
export type InboxNotice = GatewaySchema<'InboxNotice'>
/** A system notification in the caller's language; `closed_at`: the thing is gone (stock replenished…). */
export type SystemNotification = GatewaySchema<'NotificationOut'>
export type UnreadCount = GatewaySchema<'UnreadCount'>

export interface NoticeQuery {
  page?: number
  size?: number
  q?: string
  status?: NoticeStatus
}

const NOTICES = '/api/system/notices'
const NOTIFICATIONS = '/api/system/notifications'

export const noticesApi = {
  list: (query: NoticeQuery, signal?: AbortSignal) => http.get<Page<Notice>>(NOTICES, { ...query }, { signal }),
  create: (body: NoticeInput) => http.post<Notice>(NOTICES, body),
  update: (id: number, body: NoticeInput) => http.put<Notice>(`${NOTICES}/${id}`, body),
  publish: (id: number) => http.post<Notice>(`${NOTICES}/${id}/publish`),
  withdraw: (id: number) => http.post<Notice>(`${NOTICES}/${id}/withdraw`),
  receipts: (id: number) => http.get<NoticeReceipts>(`${NOTICES}/${id}/receipts`),
  inbox: (query: { page?: number; size?: number; unread?: boolean }, signal?: AbortSignal) =>
    http.get<Page<InboxNotice>>(`${NOTICES}/inbox`, { ...query }, { signal }),
  /** Opens a notice addressed to me: the first opening is its read receipt. */
  open: (id: number) => http.post<InboxNotice>(`${NOTICES}/inbox/${id}/read`),
}

export const notificationsApi = {
  mine: (query: { page?: number; size?: number; unread?: boolean }, signal?: AbortSignal) =>
    http.get<Page<SystemNotification>>(NOTIFICATIONS, { ...query }, { signal }),
  unreadCount: () => http.get<UnreadCount>(`${NOTIFICATIONS}/unread-count`),
  read: (id: number) => http.post<SystemNotification>(`${NOTIFICATIONS}/${id}/read`),
  readAll: () => http.post<number>(`${NOTIFICATIONS}/read-all`),
}

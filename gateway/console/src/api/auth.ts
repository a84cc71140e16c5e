import type { Localized } from '@/resources/types'

import { http } from './http'

export interface User {
  id: number
  username: string
  real_name: string
  permissions: string[]
  must_change_password: boolean
}

export interface LoginAnswer {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token: string
  user: User
}

export interface ModuleInfo {
  key: string
  name: Localized
  available: boolean
}

export const authApi = {
  login: (username: string, password: string) =>
    http.post<LoginAnswer>('/api/auth/login', { username, password }, { anonymous: true }),
  refresh: (refreshToken: string) =>
    http.post<LoginAnswer>('/api/auth/refresh', { refresh_token: refreshToken }, { anonymous: true }),
  me: () => http.get<User>('/api/auth/me'),
  modules: () => http.get<ModuleInfo[]>('/api/auth/modules'),
  logout: () => http.post<void>('/api/auth/logout'),
}

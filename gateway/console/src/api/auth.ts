import type { Localized } from '@/resources/types'

import { http } from './http'

export interface User {
  id: number
  username: string
  real_name: string
  permissions: string[]
  /** While true the token carries no permissions: only a password change is possible. */
  must_change_password: boolean
  /** Why: a password chosen by an administrator (or generated), or one past its maximum age. */
  password_change_reason?: 'initial' | 'expired' | null
  department_id?: number | null
  second_factor_enabled?: boolean
  /** While true the token carries no permissions: only enrolling a second factor is possible. */
  second_factor_enrolment_required?: boolean
}

export interface LoginAnswer {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token: string
  user: User
}

/** The password was right; the login goes on with a code (POST /api/auth/login/second-factor). */
export interface SecondFactorChallenge {
  second_factor_required: true
  challenge: string
  expires_in: number
}

export interface SecondFactorStatus {
  enabled: boolean
  required: boolean
  enabled_at: string | null
  recovery_codes_left: number
}

export interface SecondFactorEnrolment {
  secret: string
  otpauth_uri: string
  /** The QR code of `otpauth_uri`, as SVG text. */
  qr_svg: string
}

export interface SecondFactorEnabled {
  /** Shown this once; only their hashes are kept. */
  recovery_codes: string[]
  tokens: LoginAnswer
}

export function isChallenge(answer: LoginAnswer | SecondFactorChallenge): answer is SecondFactorChallenge {
  return 'second_factor_required' in answer && answer.second_factor_required === true
}

export interface ModuleInfo {
  key: string
  name: Localized
  available: boolean
}

export const authApi = {
  login: (username: string, password: string) =>
    http.post<LoginAnswer | SecondFactorChallenge>('/api/auth/login', { username, password }, { anonymous: true }),
  /** The second step: a 6-digit code from the authenticator, or a recovery code. */
  loginSecondFactor: (challenge: string, code: string) =>
    http.post<LoginAnswer>('/api/auth/login/second-factor', { challenge, code }, { anonymous: true }),
  refresh: (refreshToken: string) =>
    http.post<LoginAnswer>('/api/auth/refresh', { refresh_token: refreshToken }, { anonymous: true }),
  me: () => http.get<User>('/api/auth/me'),
  modules: () => http.get<ModuleInfo[]>('/api/auth/modules'),
  logout: () => http.post<void>('/api/auth/logout'),
  /** New tokens come back; the user's other sessions end. 422 names the field at fault. */
  changePassword: (currentPassword: string, newPassword: string) =>
    http.post<LoginAnswer>('/api/auth/password', { current_password: currentPassword, new_password: newPassword }),
  secondFactor: () => http.get<SecondFactorStatus>('/api/auth/second-factor'),
  startEnrolment: () => http.post<SecondFactorEnrolment>('/api/auth/second-factor/enrolment'),
  confirmEnrolment: (code: string) => http.post<SecondFactorEnabled>('/api/auth/second-factor/confirm', { code }),
  disableSecondFactor: (password: string, code: string) =>
    http.post<void>('/api/auth/second-factor/disable', { password, code }),
}

import type { Localized } from '@/resources/types'

import { http } from './http'
import type { GatewaySchema } from './schema'

/**
 * While `must_change_password` (an administrator's or an expired password, `password_change_reason`)
 * or `second_factor_enrolment_required` is true the token carries no permissions.
 */
export type User = GatewaySchema<'UserOut'>
export type LoginAnswer = GatewaySchema<'TokenOut'>
/** The password was right; the login goes on with a code (POST /api/auth/login/second-factor). */
export type SecondFactorChallenge = GatewaySchema<'SecondFactorChallenge'>
export type SecondFactorStatus = GatewaySchema<'SecondFactorStatus'>
/** `qr_svg`: the QR code of `otpauth_uri`, as SVG text. */
export type SecondFactorEnrolment = GatewaySchema<'SecondFactorEnrolment'>
/** `recovery_codes` are shown this once; only their hashes are kept. */
export type SecondFactorEnabled = GatewaySchema<'SecondFactorEnabled'>

export function isChallenge(answer: LoginAnswer | SecondFactorChallenge): answer is SecondFactorChallenge {
  return 'second_factor_required' in answer && answer.second_factor_required === true
}

/** The module's name is a `{zh, en}` pair; the schema only says "a dict of strings". */
export type ModuleInfo = Omit<GatewaySchema<'ModuleOut'>, 'name'> & { name: Localized }

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

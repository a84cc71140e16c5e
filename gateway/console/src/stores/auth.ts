import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { authApi, isChallenge, type LoginAnswer, type ModuleInfo, type SecondFactorChallenge, type User } from '@/api/auth'
import { ApiError } from '@/api/http'
import { hasModule, hasPermission } from '@/utils/permissions'

const STORAGE_KEY = 'hamp.session'

interface StoredSession {
  accessToken: string
  refreshToken: string | null
}

function readStored(): StoredSession | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    if (!raw) return null
    const value = JSON.parse(raw) as Partial<StoredSession>
    return typeof value.accessToken === 'string' ? { accessToken: value.accessToken, refreshToken: value.refreshToken ?? null } : null
  } catch {
    return null
  }
}

function writeStored(value: StoredSession | null): void {
  try {
    if (value) localStorage.setItem(STORAGE_KEY, JSON.stringify(value))
    else localStorage.removeItem(STORAGE_KEY)
  } catch {
    // storage disabled: the session lasts for this page only
  }
}

/** One claim of a JWT, read without checking it (the server checks; this is only for display). */
function tokenClaim(token: string | null, name: string): string | null {
  const payload = token?.split('.')[1]
  if (!payload) return null
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='))
    const value = (JSON.parse(json) as Record<string, unknown>)[name]
    return typeof value === 'string' || typeof value === 'number' ? String(value) : null
  } catch {
    return null
  }
}

/** Modules the console has pages for; used only when /api/auth/modules cannot be read. */
const FALLBACK_MODULES: ModuleInfo[] = [{ key: 'dbs', name: { zh: '数据中心', en: 'Master data' }, available: true }]

export const useAuthStore = defineStore('auth', () => {
  const stored = readStored()
  const token = ref<string | null>(stored?.accessToken ?? null)
  const refreshToken = ref<string | null>(stored?.refreshToken ?? null)
  const user = ref<User | null>(null)
  const modules = ref<ModuleInfo[]>([])

  const loggedIn = computed(() => token.value !== null)
  const permissions = computed(() => user.value?.permissions ?? [])
  const mustChangePassword = computed(() => Boolean(user.value?.must_change_password))
  const passwordExpired = computed(() => user.value?.password_change_reason === 'expired')
  /** The code of the last refused renewal (`session_idle`, `session_expired`…), for the notice shown at login. */
  const endedBecause = ref<string | null>(null)
  /** An administrator without a second factor yet: nothing opens until it is set up. */
  const enrolmentRequired = computed(() => Boolean(user.value?.second_factor_enrolment_required))
  /** Whether the token opens anything beyond the mandatory steps (password, second factor). */
  const restricted = computed(() => mustChangePassword.value || enrolmentRequired.value)
  /** Whether the 系统管理 menu shows: any `system:` permission, or `*`. */
  const hasSystem = computed(() => hasModule(permissions.value, 'system'))
  /** The id of this login (the token's `sid`), to mark it among the online sessions. */
  const sessionId = computed(() => tokenClaim(token.value, 'sid'))

  /** Modules shown in the menu: available on the server and granted to this user. */
  const visibleModules = computed(() => modules.value.filter((m) => m.available && hasModule(permissions.value, m.key)))

  function can(permission: string): boolean {
    return hasPermission(permissions.value, permission)
  }

  async function loadModules(): Promise<void> {
    try {
      modules.value = await authApi.modules()
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw error
      console.warn('HAMP: cannot read /api/auth/modules; showing the built-in list', error)
      modules.value = FALLBACK_MODULES
    }
  }

  function adopt(answer: LoginAnswer): void {
    token.value = answer.access_token
    refreshToken.value = answer.refresh_token ?? null
    user.value = answer.user
    writeStored({ accessToken: answer.access_token, refreshToken: refreshToken.value })
  }

  /** The user, or the challenge of a second step when the account has two-step verification. */
  async function login(username: string, password: string): Promise<User | SecondFactorChallenge> {
    const answer = await authApi.login(username, password)
    if (isChallenge(answer)) return answer
    return await start(answer)
  }

  async function loginSecondFactor(challenge: string, code: string): Promise<User> {
    return await start(await authApi.loginSecondFactor(challenge, code))
  }

  async function start(answer: LoginAnswer): Promise<User> {
    adopt(answer)
    // Until the initial password is changed (or a required second factor set up) every other call is refused (403).
    if (!restricted.value) await loadModules()
    return answer.user
  }

  /** Turns on two-step verification; the answer carries full tokens and the recovery codes (shown once). */
  async function confirmEnrolment(code: string): Promise<string[]> {
    const answer = await authApi.confirmEnrolment(code)
    await start(answer.tokens)
    return answer.recovery_codes
  }

  /** A call was refused with `second_factor_enrolment_required` (e.g. roles changed while logged in). */
  function requireEnrolment(): void {
    if (user.value) user.value = { ...user.value, second_factor_enrolment_required: true, permissions: [] }
  }

  /** Changes the password; the answer carries new tokens (the other sessions end). */
  async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await start(await authApi.changePassword(currentPassword, newPassword))
  }

  /** A call was refused with `password_change_required` (e.g. reset while logged in). */
  function requirePasswordChange(): void {
    if (user.value) user.value = { ...user.value, must_change_password: true, permissions: [] }
  }

  let renewing: Promise<boolean> | null = null

  /**
   * The access token is short-lived: trade the refresh token (it rotates) for a new one.
   * Concurrent 401s share one refresh; a token another tab renewed is taken over.
   */
  function renew(used: string | null): Promise<boolean> {
    if (token.value && token.value !== used) return Promise.resolve(true)
    const stored = readStored()
    if (stored && stored.accessToken !== used) {
      token.value = stored.accessToken
      refreshToken.value = stored.refreshToken
      return Promise.resolve(true)
    }
    const current = refreshToken.value
    if (!current) return Promise.resolve(false)
    renewing ??= authApi
      .refresh(current)
      .then((answer) => {
        adopt(answer)
        endedBecause.value = null
        return true
      })
      .catch((error: unknown) => {
        endedBecause.value = error instanceof ApiError ? (error.code ?? null) : null
        return false
      })
      .finally(() => {
        renewing = null
      })
    return renewing
  }

  /** Reads the user and modules once per page load (the token came from storage). */
  async function ensureProfile(): Promise<void> {
    if (!token.value || user.value) return
    const me = await authApi.me()
    if (!me.must_change_password && !me.second_factor_enrolment_required) await loadModules()
    user.value = me
  }

  /** Forgets the session locally (after a 401 or a logout). */
  function clear(): void {
    token.value = null
    refreshToken.value = null
    user.value = null
    modules.value = []
    writeStored(null)
  }

  async function logout(): Promise<void> {
    try {
      if (token.value) await authApi.logout()
    } catch {
      // the session ends locally whatever the server says
    } finally {
      clear()
    }
  }

  return {
    token,
    user,
    modules,
    loggedIn,
    permissions,
    mustChangePassword,
    passwordExpired,
    endedBecause,
    enrolmentRequired,
    hasSystem,
    sessionId,
    visibleModules,
    can,
    login,
    loginSecondFactor,
    confirmEnrolment,
    changePassword,
    requirePasswordChange,
    requireEnrolment,
    renew,
    ensureProfile,
    clear,
    logout,
  }
})

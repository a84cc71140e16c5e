// One small fetch wrapper for every API call: same-origin relative URLs, the bearer token,
// the console language in Accept-Language, and problem+json errors turned into ApiError.

export interface FieldProblem {
  field: string
  code?: string
  message: string
}

/** The body of every API error (RFC 9457 problem+json). */
export interface Problem {
  type?: string
  title?: string
  status: number
  detail?: string
  code?: string
  errors?: FieldProblem[]
  request_id?: string
  /** permission_denied: the permission missing (RFC 9457 extension member). */
  permission?: string
}

export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem

  constructor(problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`)
    this.name = 'ApiError'
    this.status = problem.status
    this.problem = problem
  }

  get code(): string | undefined {
    return this.problem.code
  }

  get fieldErrors(): FieldProblem[] {
    return this.problem.errors ?? []
  }
}

export interface HttpHooks {
  token: () => string | null
  language: () => string
  /**
   * After a 401 on an authenticated call: get a fresh access token (refresh token) and
   * say whether the call is worth repeating. `used` is the token the call carried.
   */
  renew: (used: string | null) => Promise<boolean>
  /** A 401 that renewing could not cure: clear the session, go to login. */
  onUnauthorized: () => void
  /** Message for a network failure (no answer at all) in the current language. */
  networkMessage: () => string
  /** A 403 `password_change_required`: the user must change the password first. */
  onPasswordChangeRequired?: () => void
  /** A 403 `second_factor_enrolment_required`: the user must set up two-step verification first. */
  onEnrolmentRequired?: () => void
}

let hooks: HttpHooks = {
  token: () => null,
  language: () => 'zh-CN',
  renew: async () => false,
  onUnauthorized: () => {},
  networkMessage: () => 'Network error',
}

export function configureHttp(next: HttpHooks): void {
  hooks = next
}

export type Query = Record<string, string | number | boolean | null | undefined>

export interface RequestOptions {
  query?: Query
  body?: unknown
  /** Send no bearer token and do not treat a 401 as an ended session (login). */
  anonymous?: boolean
  /** Set on the one repeat after renewing the token. */
  retried?: boolean
  signal?: AbortSignal
  /** Extra request headers (e.g. `Idempotency-Key`). */
  headers?: Record<string, string>
  /** The answer is a file: resolve with its Blob instead of parsing JSON. */
  blob?: boolean
  /**
   * Sent by the console on its own (a timer), not by the user: the gateway does not count it as
   * use of the session, so a screen left open still ends after the idle timeout.
   */
  background?: boolean
}

export function withQuery(url: string, query?: Query): string {
  if (!query) return url
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.append(key, String(value))
  }
  const text = params.toString()
  return text ? `${url}${url.includes('?') ? '&' : '?'}${text}` : url
}

async function readProblem(response: Response): Promise<Problem> {
  const type = response.headers.get('content-type') ?? ''
  if (type.includes('json')) {
    try {
      const body = (await response.json()) as Partial<Problem> & { detail?: unknown }
      // FastAPI's own errors may carry a non-string detail; keep only readable text.
      const detail = typeof body.detail === 'string' ? body.detail : undefined
      return {
        ...body,
        detail,
        status: typeof body.status === 'number' ? body.status : response.status,
        errors: Array.isArray(body.errors) ? body.errors : [],
      }
    } catch {
      // fall through: an unreadable body
    }
  }
  return { status: response.status, title: response.statusText, errors: [] }
}

/** A GET made while `recordRequest` runs its function (a list's fetch, for 导出). */
export interface RecordedRequest {
  url: string
  query: Query
}

let recorder: ((request: RecordedRequest) => void) | null = null

/**
 * Runs `start` and answers what it returns with the first GET it sent before its first `await`:
 * the list a page reads, with its filters, which 导出 then asks the gateway to export.
 */
export function recordRequest<T>(start: () => T): { result: T; request: RecordedRequest | null } {
  let request: RecordedRequest | null = null
  recorder = (r) => {
    request ??= r
  }
  try {
    return { result: start(), request }
  } finally {
    recorder = null
  }
}

export async function request<T>(method: string, url: string, options: RequestOptions = {}): Promise<T> {
  if (recorder && method === 'GET') recorder({ url, query: { ...options.query } })
  const headers: Record<string, string> = {
    Accept: options.blob ? '*/*' : 'application/json, application/problem+json',
    'Accept-Language': hooks.language(),
    ...options.headers,
  }
  if (options.background) headers['X-Background'] = '1'
  const token = options.anonymous ? null : hooks.token()
  if (token) headers.Authorization = `Bearer ${token}`
  let body: BodyInit | undefined
  if (options.body instanceof FormData) {
    // multipart: the browser sets Content-Type with its boundary
    body = options.body
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }

  let response: Response
  try {
    response = await fetch(withQuery(url, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    throw new ApiError({ status: 0, code: 'network_error', detail: hooks.networkMessage(), errors: [] })
  }

  if (response.ok) {
    if (options.blob) return (await response.blob()) as T
    if (response.status === 204) return undefined as T
    const text = await response.text()
    return (text ? JSON.parse(text) : undefined) as T
  }

  const problem = await readProblem(response)
  if (response.status === 401 && !options.anonymous) {
    if (!options.retried && (await hooks.renew(token))) {
      return request<T>(method, url, { ...options, retried: true })
    }
    hooks.onUnauthorized()
  }
  if (response.status === 403 && problem.code === 'password_change_required') hooks.onPasswordChangeRequired?.()
  if (response.status === 403 && problem.code === 'second_factor_enrolment_required') hooks.onEnrolmentRequired?.()
  throw new ApiError(problem)
}

export const http = {
  get: <T>(url: string, query?: Query, options: RequestOptions = {}) => request<T>('GET', url, { ...options, query }),
  post: <T>(url: string, body?: unknown, options: RequestOptions = {}) => request<T>('POST', url, { ...options, body }),
  put: <T>(url: string, body?: unknown, options: RequestOptions = {}) => request<T>('PUT', url, { ...options, body }),
  delete: <T = void>(url: string, options: RequestOptions = {}) => request<T>('DELETE', url, options),
  /** A file (PDF receipt, exam file) read with the bearer token, as a Blob. */
  blob: (url: string, options: RequestOptions = {}) => request<Blob>('GET', url, { ...options, blob: true }),
}

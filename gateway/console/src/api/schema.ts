// The services' own types, generated from their OpenAPI documents (src/api/generated/, written
// by `npm run api-types`): an API module names a schema here instead of describing it by hand,
// so a changed endpoint fails the type check instead of a page at run time.
import type { components as Dbs } from './generated/dbs'
import type { components as Dms } from './generated/dms'
import type { components as Gateway } from './generated/gateway'
import type { components as Hms } from './generated/hms'
import type { components as Oms } from './generated/oms'
import type { components as Pms } from './generated/pms'
import type { components as Sms } from './generated/sms'
import type { components as Tms } from './generated/tms'

export type DbsSchema<K extends keyof Dbs['schemas']> = Dbs['schemas'][K]
export type DmsSchema<K extends keyof Dms['schemas']> = Dms['schemas'][K]
export type GatewaySchema<K extends keyof Gateway['schemas']> = Gateway['schemas'][K]
export type HmsSchema<K extends keyof Hms['schemas']> = Hms['schemas'][K]
export type OmsSchema<K extends keyof Oms['schemas']> = Oms['schemas'][K]
export type PmsSchema<K extends keyof Pms['schemas']> = Pms['schemas'][K]
export type SmsSchema<K extends keyof Sms['schemas']> = Sms['schemas'][K]
export type TmsSchema<K extends keyof Tms['schemas']> = Tms['schemas'][K]

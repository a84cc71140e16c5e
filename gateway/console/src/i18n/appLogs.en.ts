import type { appLogsZh } from './appLogs.zh-CN'

export const appLogsEn: typeof appLogsZh = {
  appLogs: {
    title: 'Application logs',
    intro: 'Every service’s log lines, by request id, user, service, level, time and text; ID-card numbers, phones and passwords were masked when written.',
    requestId: 'Request id',
    user: 'User',
    service: 'Service',
    level: 'Level',
    message: 'Message',
    text: 'Search the log text',
    detail: 'Details',
    detailTitle: 'Log line',
    rawLine: 'Raw line (JSON)',
    filterByRequest: 'Only this request’s lines',
    levels: { DEBUG: 'Debug', INFO: 'Info', WARNING: 'Warning', ERROR: 'Error', CRITICAL: 'Critical' },
    services: {
      gateway: 'Gateway',
      registry: 'Service registry',
      oms: 'Outpatient',
      hms: 'Inpatient',
      tms: 'Statistics',
      dbs: 'Master data',
      dms: 'Scheduling',
      sms: 'Warehouse',
      pms: 'Pharmacy',
      hamp: 'Platform launcher',
    },
    otherService: 'Other service',
  },
}

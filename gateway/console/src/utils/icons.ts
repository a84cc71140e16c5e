import {
  Avatar,
  Box,
  Calendar,
  Coin,
  CollectionTag,
  DataAnalysis,
  Document,
  Files,
  FirstAidKit,
  Grid,
  House,
  Key,
  List,
  Location,
  Monitor,
  Notebook,
  Odometer,
  OfficeBuilding,
  PriceTag,
  RefreshLeft,
  Setting,
  Stamp,
  Tickets,
  User,
  Van,
  Wallet,
} from '@element-plus/icons-vue'
import type { Component } from 'vue'

// Only the icons the menu uses, so the bundle does not carry all of them.
const icons: Record<string, Component> = {
  Avatar,
  Box,
  Calendar,
  Coin,
  CollectionTag,
  DataAnalysis,
  Document,
  Files,
  FirstAidKit,
  House,
  Key,
  List,
  Location,
  Monitor,
  Notebook,
  Odometer,
  OfficeBuilding,
  PriceTag,
  RefreshLeft,
  Setting,
  Stamp,
  Tickets,
  User,
  Van,
  Wallet,
}

export function icon(name: string | undefined): Component {
  return (name && icons[name]) || Grid
}

/** The menu icon of each module. */
export const MODULE_ICONS: Record<string, string> = {
  oms: 'Tickets',
  hms: 'House',
  tms: 'DataAnalysis',
  dbs: 'Coin',
  dms: 'Calendar',
  sms: 'Box',
  pms: 'FirstAidKit',
  system: 'Setting',
}

/** Words for what is wrong with a vendor's data, shown beside its freshness (not colour alone). */
import type { paths } from '../api/schema.js';

type Status = paths['/api/status']['get']['responses'][200]['content']['application/json'];
type VendorKey = keyof Status['vendor_status'];

export interface VendorBadge {
  readonly text: string;
  readonly tone: 'warn' | 'error';
  readonly detail?: string;
}

export function vendorBadges(key: VendorKey, vendor: Status['vendor_status'][VendorKey], health: Status['collector_health']): VendorBadge[] {
  const badges: VendorBadge[] = [];
  if (!vendor.configured) badges.push({ text: 'Not configured', tone: 'warn' });
  else if (vendor.freshness_status === 'no_data') badges.push({ text: 'No data', tone: 'warn' });
  else if (vendor.freshness_status === 'stale' || vendor.freshness_status === 'very_stale') badges.push({ text: 'Stale', tone: 'warn' });
  // `collector` is the status's vendor key (`ThreatLocker`, `Ninja`).
  const failure = health.recent_failures.find((f) => f.collector === key);
  if (failure) badges.push({ text: 'Collection failed', tone: 'error', detail: failure.error ?? failure.message ?? undefined });
  return badges;
}

/**
 * Tolerant schemas of what NinjaOne's public API v2 sends (vendor-apis.md §2.2–2.6).
 *
 * Unknown keys pass through (the raw row is stored as-is) and every field may be missing or
 * null; what a device *must* have (an id, a name) is decided by the normalizer, which reports it
 * as a typed error. Only the key names NinjaOne really uses are declared (`publicIP`, `offline`,
 * `lastLoggedInUser`…), never the invented ones older collectors read (`publicIp`, `status`).
 */
import { z } from 'zod';
import { looseFlag, looseNumber, looseText } from '../values.js';

const str = looseText;
const num = looseNumber;
const bool = looseFlag;

export const ninjaOsSchema = z.looseObject({
  manufacturer: str,
  name: str,
  architecture: str,
  lastBootTime: num,
  buildNumber: str,
  releaseId: str,
});

export const ninjaSystemSchema = z.looseObject({
  name: str,
  manufacturer: str,
  model: str,
  serialNumber: str,
  biosSerialNumber: str,
  domain: str,
  virtualMachine: bool,
  chassisType: str,
});

export const ninjaDeviceSchema = z.looseObject({
  id: num,
  parentDeviceId: num,
  organizationId: num,
  locationId: num,
  nodeClass: str,
  nodeRoleId: num,
  approvalStatus: str,
  /** The online state; NinjaOne has no `status` key. */
  offline: bool,
  /** Missing on devices nobody named, `""` on some. */
  displayName: str,
  /** NetBIOS name: at most 15 characters. */
  systemName: str,
  dnsName: str,
  netbiosName: str,
  /** Epoch seconds, floats with a fraction. */
  created: num,
  lastContact: num,
  lastUpdate: num,
  ipAddresses: z.array(z.unknown()).nullish(),
  macAddresses: z.array(z.unknown()).nullish(),
  publicIP: str,
  os: ninjaOsSchema.nullish(),
  system: ninjaSystemSchema.nullish(),
  lastLoggedInUser: str,
  deviceType: str,
});
export type NinjaDevice = z.infer<typeof ninjaDeviceSchema>;

/**
 * Device lists are bare arrays. Unlike ThreatLocker, NinjaOne never answers a list with an empty
 * body or `null`, so those are malformed rather than "no rows": reading them as an empty fleet
 * is how a vendor hiccup turns into a wiped day.
 */
export const ninjaDeviceListSchema = z.array(ninjaDeviceSchema);

/**
 * `GET /v2/devices/search?q=&limit=`: `{query, devices}`, the devices in the basic shape (plus
 * which key matched). Only the keys hostname matching reads are relied on.
 */
export const ninjaDeviceSearchSchema = z.looseObject({
  query: str,
  devices: z.array(ninjaDeviceSchema),
});

export const ninjaOrganizationSchema = z.looseObject({ id: num, name: str });
export const ninjaOrganizationListSchema = z.array(ninjaOrganizationSchema);

export const ninjaLocationSchema = z.looseObject({ id: num, name: str, organizationId: num });
export const ninjaLocationListSchema = z.array(ninjaLocationSchema);

/** `POST /ws/oauth/token` (RFC 6749 §5.1). `refresh_token` comes back on refresh grants, rotated. */
export const ninjaTokenSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().nullish(),
  expires_in: z.union([z.number(), z.string()]).nullish(),
  scope: z.string().nullish(),
  refresh_token: z.string().nullish(),
});
export type NinjaToken = z.infer<typeof ninjaTokenSchema>;

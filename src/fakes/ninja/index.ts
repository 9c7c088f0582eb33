export {
  startFakeNinja,
  type FakeFault,
  type FakeNinja,
  type FakeNinjaAdmin,
  type FakeNinjaOptions,
  type FakeRequestLogEntry,
  type NinjaOperation,
} from './server.js';
export {
  CLIENT_SPARE_LOCATION,
  generateNinjaFleet,
  MSP_SPARE_LOCATION,
  NINJA_NODE_CLASSES,
  type FakeNinjaDevice,
  type FakeNinjaLocation,
  type FakeNinjaOrganization,
  type NinjaFleet,
  type NinjaNodeClass,
} from './data.js';
export { DeviceFilterError, parseDeviceFilter } from './filter.js';

/** Validation of the Vite and esbuild plugins' options: each problem is one line naming the option. */

const KNOWN = ['root', 'timeout', 'allowedHosts'];

/**
 * @param {unknown} options
 * @param {string} who  prefix of error messages, e.g. the package name
 * @param {string[]} [known]  accepted option names
 * @returns {Record<string, any>} the options, checked
 */
export function validateOptions(options, who, known = KNOWN) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${who}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${who}: unknown option "${key}" (expected one of: ${known.join(', ')})`);
    }
  }
  const { root, timeout, allowedHosts, port, host } = options;
  if (root !== undefined && (typeof root !== 'string' || root === '')) {
    throw new TypeError(`${who}: root must be a non-empty path string, got ${describe(root)}`);
  }
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && timeout <= 86400)) {
    throw new TypeError(`${who}: timeout must be a number of seconds between 0 and 86400, got ${describe(timeout)}`);
  }
  if (allowedHosts !== undefined && !(Array.isArray(allowedHosts) && allowedHosts.every((h) => typeof h === 'string' && h))) {
    throw new TypeError(`${who}: allowedHosts must be an array of host names, got ${describe(allowedHosts)}`);
  }
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new TypeError(`${who}: port must be an integer between 0 and 65535, got ${describe(port)}`);
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw new TypeError(`${who}: host must be a non-empty string, got ${describe(host)}`);
  }
  return { ...options };
}

function describe(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

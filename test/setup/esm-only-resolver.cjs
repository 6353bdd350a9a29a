// Jest resolver: packages that are ESM-only and whose export maps offer only an
// `import` condition (kubernetes-models, used by the Helm chart tests) are
// resolved with that condition; Jest then loads them natively (require(esm),
// Node >= 24.9). Everything else resolves exactly as by default.
const ESM_ONLY = /^(kubernetes-models|@kubernetes-models\/)/;

module.exports = (request, options) => {
  if (ESM_ONLY.test(request)) {
    return options.defaultResolver(request, {
      ...options,
      conditions: [...new Set([...(options.conditions ?? []), 'import'])],
    });
  }
  return options.defaultResolver(request, options);
};

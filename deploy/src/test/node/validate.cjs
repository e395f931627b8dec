// Validates Kubernetes objects against their schemas. Input: a JSON file holding an array of objects
// (one `helm template` output). Output on stdout: one JSON object per input object,
// {"kind", "name", "apiVersion", "errors": [...]}; an object whose kind has no schema here gets the
// error "no schema". Exit code 0 whenever the input could be read; the caller judges the results.
//
// Schemas: the Kubernetes API's own OpenAPI definitions (package kubernetes-models, Kubernetes 1.3x)
// and the CRD schemas of KEDA and prometheus-operator (@kubernetes-models/keda,
// @kubernetes-models/prometheus-operator), all checked by ajv inside those packages.
'use strict';
const fs = require('fs');

// API group -> npm package holding its models.
const PACKAGES = {
  'keda.sh': '@kubernetes-models/keda',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

function modelClass(apiVersion, kind) {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const pkg = PACKAGES[group] || 'kubernetes-models';
  // kubernetes-models lays models out as <group>/<version>/<Kind>, the core group as <version>/<Kind>.
  const module = `${pkg}/${apiVersion}/${kind}`;
  try {
    return require(module)[kind];
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return null;
    throw e;
  }
}

function errorsOf(obj) {
  const Model = modelClass(String(obj.apiVersion || ''), String(obj.kind || ''));
  if (!Model) return ['no schema for ' + obj.apiVersion + ' ' + obj.kind];
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    // ajv's message lists every violation, separated by commas.
    return [e.message];
  }
}

const objects = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
for (const obj of objects) {
  const meta = obj.metadata || {};
  process.stdout.write(
    JSON.stringify({ apiVersion: obj.apiVersion, kind: obj.kind, name: meta.name, errors: errorsOf(obj) }) + '\n'
  );
}

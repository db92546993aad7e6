'use strict';

// Local Serverless Framework v3 plugin for Hunch (listed in serverless.yml `plugins`).
//
// 1. Builds the Lambda zip with `infra/lambda/build.py` right before Serverless would package anything,
//    and points every function at it (`package.artifact`). Serverless never zips the repository itself,
//    so no `package.patterns` can leak tests, .env files or node_modules into the upload.
// 2. Teaches Serverless v3's config schema the python3.12/python3.13 runtimes. v3.40 (the last v3
//    release) predates them in its `awsLambdaRuntime` enum, and `configValidationMode: error` would
//    otherwise reject `runtime: python3.12`; CloudFormation itself accepts both.
// 3. Drops the `DependsOn` entries Serverless generates next to a Ref/GetAtt of the same resource
//    (routes, stage, provisioned-concurrency/SnapStart aliases): CloudFormation infers those
//    dependencies anyway, and cfn-lint flags the duplicates (W3005). Nothing else in the template changes.
//
// The interpreter that runs build.py must be CPython 3.12 (the byte code is compiled for the runtime):
// HUNCH_LAMBDA_PYTHON, else `python3.12` on PATH, else pyenv's newest 3.12.

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const EXTRA_RUNTIMES = ['python3.12', 'python3.13'];

function works(candidate) {
  if (!candidate) return false;
  const probe = childProcess.spawnSync(
    candidate,
    ['-c', 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)'],
    { stdio: 'ignore' }
  );
  return probe.status === 0;
}

function pyenvCandidates() {
  const roots = [process.env.PYENV_ROOT, path.join(os.homedir(), '.pyenv')].filter(Boolean);
  const found = [];
  for (const root of roots) {
    const versions = path.join(root, 'versions');
    if (!fs.existsSync(versions)) continue;
    const names = fs
      .readdirSync(versions)
      .filter((name) => /^3\.12\.\d+$/.test(name))
      .sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]));
    for (const name of names) found.push(path.join(versions, name, 'bin', 'python3.12'));
  }
  return found;
}

function findPython() {
  const candidates = [process.env.HUNCH_LAMBDA_PYTHON, 'python3.12', ...pyenvCandidates()];
  return candidates.find(works);
}

class HunchLambdaBuild {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.options = options || {};
    this.log = log || { notice: console.log, warning: console.warn }; // eslint-disable-line no-console

    const handler = serverless.configSchemaHandler;
    const runtimes = handler && handler.schema.definitions.awsLambdaRuntime;
    if (runtimes && Array.isArray(runtimes.enum)) {
      for (const runtime of EXTRA_RUNTIMES) {
        if (!runtimes.enum.includes(runtime)) runtimes.enum.push(runtime);
      }
    }

    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.build(),
      'before:deploy:function:packageFunction': () => this.build(),
      // After every plugin has added its resources, right before the template is written.
      'before:aws:package:finalize:saveServiceState': () => this.pruneImpliedDependsOn(),
    };
  }

  pruneImpliedDependsOn() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    for (const resource of Object.values(template.Resources || {})) {
      if (!resource.DependsOn) continue;
      const referenced = new Set();
      const walk = (node) => {
        if (Array.isArray(node)) return node.forEach(walk);
        if (!node || typeof node !== 'object') return undefined;
        if (typeof node.Ref === 'string') referenced.add(node.Ref);
        const getAtt = node['Fn::GetAtt'];
        if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') referenced.add(getAtt[0]);
        if (typeof getAtt === 'string') referenced.add(getAtt.split('.')[0]);
        return Object.values(node).forEach(walk);
      };
      walk(resource.Properties);
      const dependsOn = [].concat(resource.DependsOn).filter((name) => !referenced.has(name));
      if (dependsOn.length === 0) delete resource.DependsOn;
      else resource.DependsOn = dependsOn.length === 1 ? dependsOn[0] : dependsOn;
    }
  }

  build() {
    const service = this.serverless.service;
    const serviceDir = this.serverless.serviceDir;
    const settings = (service.custom && service.custom.lambdaBuild) || {};
    const artifact = service.package && service.package.artifact;
    if (!artifact) {
      throw new this.serverless.classes.Error('serverless.yml must set package.artifact (the zip build.py writes)');
    }
    const python = findPython();
    if (!python) {
      throw new this.serverless.classes.Error(
        'No CPython 3.12 found to build the Lambda package. Install python3.12 or set HUNCH_LAMBDA_PYTHON.'
      );
    }
    const args = [
      path.join(serviceDir, 'infra', 'lambda', 'build.py'),
      '--arch',
      service.provider.architecture || 'x86_64',
      '--requirements',
      path.resolve(serviceDir, settings.requirements || 'requirements.txt'),
      '--output',
      path.resolve(serviceDir, artifact),
    ];
    this.log.notice(`Building the Lambda package with ${python}`);
    const result = childProcess.spawnSync(python, args, { cwd: serviceDir, stdio: 'inherit' });
    if (result.error || result.status !== 0) {
      throw new this.serverless.classes.Error(
        `infra/lambda/build.py failed (${result.error ? result.error.message : `exit ${result.status}`})`
      );
    }
  }
}

module.exports = HunchLambdaBuild;

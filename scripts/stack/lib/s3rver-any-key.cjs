// Preloaded (node --require) into s3rver: accept any access key id, as a
// local S3 stand-in should. s3rver only knows the key "S3RVER" and answers
// InvalidAccessKeyId for others; it does not verify SigV4 signatures anyway.
// S3RVER_MODULE_DIR is the s3rver package folder.
'use strict';
const path = require('node:path');

const AWSAccount = require(path.join(process.env.S3RVER_MODULE_DIR, 'lib', 'models', 'account.js'));
const registry = AWSAccount.registry;
const get = registry.get.bind(registry);
registry.get = (accessKeyId) => get(accessKeyId) ?? AWSAccount.DUMMY_ACCOUNT;

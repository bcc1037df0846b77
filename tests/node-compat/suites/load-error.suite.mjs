// A test file that throws while it is being imported: Node counts the file as one failed test
// (and none of the tests registered before the throw).
import { test } from 'node:test';

test('registered before the throw', () => {});

throw new Error('this file fails to load');

// Under CI (CI=true, or any value but 0 / false) every suite must run: what a suite needs and
// cannot get fails it there, where outside CI it is skipped with the reason.
export const IN_CI = !['', '0', 'false'].includes(process.env.CI ?? '');

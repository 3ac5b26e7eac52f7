// `npm run bench`: guest MIPS on fixed workloads (filled in with the CPU, issue 3).
console.log('no benchmark workloads yet');

import { sigmaBenchmark } from './sigma.bench.js';

console.log(JSON.stringify(await sigmaBenchmark.run((l) => console.log(l))));

/** What other modules may use of the reports module (docs/architecture.md, "Dependency rules"). */
export { ReportsModule } from './reports.module';

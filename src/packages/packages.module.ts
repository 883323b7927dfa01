import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuditModule } from '../audit/audit.module';
import { AuditedKinds } from '../audit/audited-kinds';
import { AgentAuthModule } from '../auth/enrollment/agent-auth.module';
import { AgentPackage, AgentPackageSchema } from './agent-package.schema';
import { AgentPackagesController } from './agent-packages.controller';
import { AgentPackagesRepository, MongooseAgentPackagesRepository } from './agent-packages.repository';
import { AgentPackagesService } from './agent-packages.service';
import { PackageCatalogue } from './package-catalogue';
import { PackageDownloads } from './package-downloads';
import { PackageFileCache } from './package-file-cache';
import { GridFsPackageFilesRepository, PackageFilesRepository } from './package-files.repository';
import { auditedPackages } from './packages.audited';

/**
 * The package catalogue (issue 21): `/api/v1/packages`, uploads into GridFS, and the downloads the
 * OpAMP listener hands here. Other modules read it through the PackageCatalogue port.
 */
@Module({
  imports: [AuditModule, AgentAuthModule, MongooseModule.forFeature([{ name: AgentPackage.name, schema: AgentPackageSchema }])],
  controllers: [AgentPackagesController],
  providers: [
    AgentPackagesService,
    { provide: PackageCatalogue, useExisting: AgentPackagesService },
    { provide: AgentPackagesRepository, useClass: MongooseAgentPackagesRepository },
    { provide: PackageFilesRepository, useClass: GridFsPackageFilesRepository },
    PackageFileCache,
    PackageDownloads,
  ],
  exports: [PackageCatalogue, PackageDownloads],
})
export class PackagesModule {
  constructor(audited: AuditedKinds, packages: AgentPackagesRepository) {
    audited.register('packages', auditedPackages(packages));
  }
}

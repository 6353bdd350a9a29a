import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiOk } from '../../common/openapi/api-docs.decorators';
import { Public } from '../../common/http/public.decorator';
import { REFERENCE_DATA } from './reference-data';

/**
 * The original's static reference data under the cases path: public, no lab,
 * not audited. The operation ids are the ones these routes had on
 * CasesController (clients generated from the OpenAPI document keep them).
 */
@ApiTags('cases')
@Controller('api/v1/cases')
export class ReferenceDataController {
  @Get('types')
  @Public()
  @ApiOperation({
    operationId: 'CasesController_types',
    summary: 'Case types with their subtypes and options (reference data, public)',
  })
  @ApiOk('ReferenceData')
  types() {
    return REFERENCE_DATA.types;
  }

  @Get('shades')
  @Public()
  @ApiOperation({
    operationId: 'CasesController_shades',
    summary: 'Shade systems (reference data, public)',
  })
  @ApiOk('ReferenceData')
  shades() {
    return REFERENCE_DATA.shades;
  }

  @Get('materials')
  @Public()
  @ApiOperation({
    operationId: 'CasesController_materials',
    summary: 'Materials (reference data, public)',
  })
  @ApiOk('ReferenceData')
  materials() {
    return REFERENCE_DATA.materials;
  }
}

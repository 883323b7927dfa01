import { ArgumentMetadata } from '@nestjs/common';
import { IsDefined, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { createValidationPipe, RequestValidationException } from './validation';

class Example {
  @IsString()
  @MaxLength(10)
  body!: string;

  @IsOptional()
  @IsInt()
  @Min(-5)
  @Max(5)
  priority?: number;

  @IsOptional()
  @IsString()
  @MaxLength(4)
  @Matches(/^[a-z]+$/, { message: 'code must be lower-case letters' })
  code?: string;

  @IsDefined({ message: 'selector is required ("" selects every agent)' })
  @IsString()
  selector!: string;
}

async function fieldErrors(value: object): Promise<{ field: string; message: string }[]> {
  const meta: ArgumentMetadata = { type: 'body', metatype: Example };
  try {
    await createValidationPipe().transform(value, meta);
  } catch (err) {
    if (err instanceof RequestValidationException) return err.fieldErrors;
    throw err;
  }
  return [];
}

describe('request validation messages: one per problem of a field', () => {
  it('says a missing field is required, not every rule it would have had to meet', async () => {
    expect(await fieldErrors({ selector: '' })).toEqual([{ field: 'body', message: 'body is required' }]);
    // A field's own "required" message is kept.
    expect(await fieldErrors({ body: 'x' })).toEqual([{ field: 'selector', message: 'selector is required ("" selects every agent)' }]);
  });

  it('gives a value of the wrong type only the type message', async () => {
    expect(await fieldErrors({ body: 'x', selector: '', priority: 'banana' })).toEqual([{ field: 'priority', message: 'priority must be an integer number' }]);
    expect(await fieldErrors({ body: 42, selector: '' })).toEqual([{ field: 'body', message: 'body must be a string' }]);
  });

  it('keeps each rule a present value of the right type breaks', async () => {
    expect(await fieldErrors({ body: 'x', selector: '', priority: 9 })).toEqual([{ field: 'priority', message: 'priority must not be greater than 5' }]);
    const both = await fieldErrors({ body: 'x', selector: '', code: 'ABCDEF' });
    expect(both).toHaveLength(2);
    expect(both).toEqual(
      expect.arrayContaining([
        { field: 'code', message: 'code must be shorter than or equal to 4 characters' },
        { field: 'code', message: 'code must be lower-case letters' },
      ]),
    );
    expect(await fieldErrors({ body: 'x', selector: '', extra: 1 })).toEqual([{ field: 'extra', message: 'property extra should not exist' }]);
  });
});

import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class LoginDto {
  @ApiProperty({ example: 'admin' })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  username: string;

  @ApiProperty({ example: 'a long passphrase', format: 'password' })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token of the last login or refresh' })
  @IsString()
  @MaxLength(8192)
  refreshToken: string;
}

export class DeviceTokenDto {
  @ApiProperty({ description: 'The deviceCode of POST /api/v1/auth/github/device' })
  @IsString()
  @MaxLength(256)
  @Matches(/^[\w.-]+$/, { message: 'deviceCode must be the deviceCode returned by POST /api/v1/auth/github/device' })
  deviceCode: string;
}

/** What login, refresh and the GitHub flows answer. */
export class TokenPairDto {
  @ApiProperty({ description: 'Short-lived JWT for `Authorization: Bearer …`' })
  accessToken: string;

  @ApiProperty({ description: 'Exchanged at POST /api/v1/auth/refresh for a new pair; each works once' })
  refreshToken: string;

  @ApiProperty({ description: 'When the access token expires', format: 'date-time' })
  expiresAt: string;
}
